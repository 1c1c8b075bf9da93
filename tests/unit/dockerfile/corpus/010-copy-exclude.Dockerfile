FROM alpine:3.19
COPY --exclude=*.md --exclude=static app/ /app/
