# check=skip=JSONArgsRecommended,MaintainerDeprecated
FROM alpine:3.19
MAINTAINER me
CMD run
ENV A b
