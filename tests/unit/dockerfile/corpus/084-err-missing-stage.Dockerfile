FROM alpine:3.19
COPY --from=3 /a /b
