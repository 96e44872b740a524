module distroless-debug.test/images/target

go 1.22
