# base has the common bits
FROM alpine:3.19 AS base
# test runs the unit tests
FROM base AS test
FROM base AS release
