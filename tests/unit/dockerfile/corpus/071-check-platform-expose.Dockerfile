FROM --platform=linux/amd64 alpine AS build
EXPOSE 8080:80 127.0.0.1:53/udp 443
FROM --platform=linux/arm64 alpine AS build-arm64
