FROM alpine:3.19
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD wget -q localhost || exit 1
