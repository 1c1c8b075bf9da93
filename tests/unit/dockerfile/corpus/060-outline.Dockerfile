# syntax=docker/dockerfile:1

# VERSION the Go version to build with
ARG VERSION=1.22
ARG UNUSED=x

# build compiles the server
FROM golang:${VERSION} AS build
# GOFLAGS extra flags for go build
ARG GOFLAGS=-trimpath
RUN --mount=type=secret,id=netrc,required=true go build

FROM alpine:3.19
RUN --mount=type=ssh echo
COPY --from=build /out /out
