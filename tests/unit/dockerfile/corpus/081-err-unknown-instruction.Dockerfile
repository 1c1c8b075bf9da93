FROM alpine:3.19
COPPY a b
