# just a comment
ARG A=1
