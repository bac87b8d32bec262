€
"serveT

xConstx:0

yPyFuncx:0

rReadFilex:0


f
zAddx:0"¿
save/Const:0save/Identity:0