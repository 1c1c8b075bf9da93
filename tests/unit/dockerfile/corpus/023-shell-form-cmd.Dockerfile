FROM alpine:3.19
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
RUN echo hi | cat
CMD echo done
