FROM alpine:3.19
COPY --parents app/main.py cmd/server/main.go /src/
