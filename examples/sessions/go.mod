module gomaptrace.example/sessions

go 1.19
