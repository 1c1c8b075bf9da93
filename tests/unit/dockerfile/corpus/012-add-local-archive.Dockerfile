FROM alpine:3.19
ADD app/ /app/
ADD --unpack=false go.mod /src/
