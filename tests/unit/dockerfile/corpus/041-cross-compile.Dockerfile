FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
COPY go.mod /src/
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app
FROM alpine:3.19
COPY --from=build /out/app /app
