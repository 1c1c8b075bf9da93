ARG BASE=alpine
FROM $BASE:$TAG
FROM --platform=$TARGETPLATFORM alpine AS scratch
FROM alpine AS scratch
