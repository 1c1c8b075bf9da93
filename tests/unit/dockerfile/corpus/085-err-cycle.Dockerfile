FROM alpine:3.19 AS one
COPY --from=two /x /x
FROM alpine:3.19 AS two
COPY --from=one /y /y
