FROM alpine:3.19 as Build
MAINTAINER me
WORKDIR app
ENV A b
LABEL x y
CMD run
CMD ["run"]
ENTRYPOINT echo
expose 80/TCP
