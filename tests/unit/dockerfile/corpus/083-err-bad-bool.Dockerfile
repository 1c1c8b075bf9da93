FROM alpine:3.19
COPY --link=maybe a /b
