FROM alpine:3.19
ENV A=1 B="two words"
ENV C=$A-${B}
ENV D=${UNSET:-fallback}
RUN echo $A
