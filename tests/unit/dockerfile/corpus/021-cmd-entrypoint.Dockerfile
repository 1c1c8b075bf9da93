FROM alpine:3.19
CMD ["serve"]
ENTRYPOINT ["/bin/app"]
CMD ["run", "--fast"]
