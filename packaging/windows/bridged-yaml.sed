# Turns configs/bridged.example.yaml into the Windows bundle's bridged.yaml:
# the journal in %ProgramData%\bridged, and a log file (a Windows service has
# no console). Used by the Makefile; the result is checked by .ci/packaging.sh.
s|^data_dir: .*|data_dir: 'C:\\ProgramData\\bridged'|
s|^  file: ""|  file: 'C:\\ProgramData\\bridged\\logs\\bridged.log'|
