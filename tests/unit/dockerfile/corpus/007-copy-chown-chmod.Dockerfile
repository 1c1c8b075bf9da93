FROM alpine:3.19
COPY --chown=app:app --chmod=0755 scripts/build.sh /usr/local/bin/
