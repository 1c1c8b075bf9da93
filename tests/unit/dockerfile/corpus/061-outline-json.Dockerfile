ARG A=1
# B is the b value
ARG B
FROM alpine:$A
ARG B
RUN --mount=type=secret,id=s1 echo
