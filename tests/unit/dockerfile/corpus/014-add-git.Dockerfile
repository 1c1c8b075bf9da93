FROM alpine:3.19
ADD --keep-git-dir=true https://github.com/example/repo.git#v1.2.3:sub /src
