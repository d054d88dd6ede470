"""Identities from outside: directories (LDAP, OpenID Connect) that vouch for a user and say
which groups they are in. What their groups mean here (team roles, admin rights) is planned in
`group_sync` and applied by gateway.services.directory."""
