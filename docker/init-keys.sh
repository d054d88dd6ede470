#!/bin/sh
# Run once by compose.yml's `keys` service before the gateways start: puts the token signing key
# pair every instance shares into the keys volume. A setup that ran one gateway before keeps its
# key (and the secrets key its webhook secrets are sealed with) by copying them from that
# gateway's data volume; otherwise a new pair is made. The gateways write secrets.key themselves
# when it is missing (the first to start wins, the others read it). Nothing is ever overwritten.
set -eu
keys="${KEYS_DIR:-/keys}"
data="${OLD_DATA_DIR:-/data}"

if [ ! -f "$keys/token.key" ]; then
    if [ -f "$data/token.key" ] && [ -f "$data/token.crt" ]; then
        cp "$data/token.key" "$data/token.crt" "$keys/"
        echo "init-keys: copied the token key pair of $data"
    else
        portus-gateway keys generate --out "$keys"
    fi
fi
if [ ! -f "$keys/secrets.key" ] && [ -f "$data/secrets.key" ]; then
    cp "$data/secrets.key" "$keys/"
    echo "init-keys: copied the secrets key of $data"
fi
