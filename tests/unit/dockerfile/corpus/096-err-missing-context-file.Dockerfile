FROM alpine:3.19
COPY nothere.txt /
