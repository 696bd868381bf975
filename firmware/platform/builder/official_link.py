# Extra script (post) of env "official": link newlib-nano without syscalls, as tinyq's own builder does,
# unless the platform's bare-metal flags already do (nordicnrf52's do, ststm32's do not; twice is an error).
Import("env")  # noqa: F821  (SCons provides it)

for spec in ("--specs=nano.specs", "--specs=nosys.specs"):
    if spec not in env["LINKFLAGS"]:
        env.Append(LINKFLAGS=[spec])
