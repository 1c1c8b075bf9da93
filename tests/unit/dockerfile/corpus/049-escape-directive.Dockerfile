# escape=`
FROM alpine:3.19
RUN echo a `
    b
WORKDIR C:\dir
ENV P=C:\x`$HOME
COPY app/main.py /c/
