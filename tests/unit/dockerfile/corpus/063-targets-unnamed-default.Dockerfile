FROM alpine:3.19 AS builder
FROM alpine:3.19
