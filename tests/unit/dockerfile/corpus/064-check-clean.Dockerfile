FROM alpine:3.19 AS build
WORKDIR /app
CMD ["run"]
