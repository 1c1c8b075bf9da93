FROM alpine:3.19 AS tools
RUN echo tool > /tool
FROM alpine:3.19
RUN --mount=type=bind,source=app,target=/mnt/app ls /mnt/app
RUN --mount=type=bind,from=tools,source=/tool,target=/t,rw cat /t
