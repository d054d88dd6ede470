"""Moving from SUSE Portus: reading its database (source), mapping its rows (plan), showing
progress. What is written, and how, is gateway.services.portus_import's."""
