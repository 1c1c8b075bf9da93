FROM --platform=linux/sparc99 alpine:3.19
