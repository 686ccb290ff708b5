#!/usr/bin/env bash
# ABI hygiene of the built libraries (issue 7):
#   1. libsimdnn.so has the SONAME libsimdnn.so.<major>;
#   2. its dynamic symbol table defines only functions the public header
#      declares with SIMDNN_API (so nothing of SLEEF, of the ISA kernels or
#      of the dispatcher leaks);
#   3. it exports every function the header declares for the families this
#      build contains (families not built yet are listed, not checked);
#   4. in libsimdnn.a every global symbol that is not public API has hidden
#      visibility (so a consumer that links the archive into its own shared
#      object does not re-export our internals either), the public API has
#      default visibility, and no SLEEF code is bundled.
#
# usage: check_symbols.sh LIB.so LIB.a HEADER MAJOR NM READELF "FAMILIES"
set -u
so=$1 archive=$2 header=$3 major=$4 nm=$5 readelf=$6 families=$7
fail=0
err() { echo "FAIL: $*"; fail=1; }

family_of() {
    case "$1" in
    *softmax*) echo softmax ;;
    *posenc* | *rope*) echo posenc ;;
    *batchnorm*) echo batchnorm ;;
    *) echo core ;;
    esac
}

# The header's API: every identifier simdnn_* directly before the "(" of a
# declaration that starts with SIMDNN_API.
api=$(tr '\n' ' ' <"$header" | grep -oE 'SIMDNN_API[^;{}#]*\(' |
      grep -oE 'simdnn_[A-Za-z0-9_]*[[:space:]]*\($' | tr -d '( ' | sort -u)
[ -n "$api" ] || err "no SIMDNN_API declarations found in $header"
echo "header declares $(echo "$api" | wc -l) functions"

# 1. SONAME
soname=$("$readelf" -dW "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = "libsimdnn.so.$major" ]; then
    echo "ok: SONAME $soname"
else
    err "SONAME is '$soname', expected libsimdnn.so.$major"
fi

# 2. exported = subset of the API
exported=$("$nm" -D --defined-only "$so" | awk '{print $NF}' | sort -u)
echo "libsimdnn.so exports $(echo "$exported" | wc -l) symbols"
extra=$(comm -23 <(echo "$exported") <(echo "$api"))
if [ -n "$extra" ]; then
    err "exported but not declared with SIMDNN_API:" "$(echo "$extra" | tr '\n' ' ')"
else
    echo "ok: every exported symbol is declared public API"
fi
leaks=$(echo "$exported" | grep -iE 'sleef|_(scalar|avx2|avx512|neon)$' ||
        true)
[ -z "$leaks" ] || err "SLEEF or ISA kernel symbols exported:" "$(echo "$leaks" | tr '\n' ' ')"

# 3. API of the built families = exported
missing=""
notbuilt=""
for f in $api; do
    fam=$(family_of "$f")
    if [ "$fam" != core ] && ! echo " $families " | grep -q " $fam "; then
        notbuilt="$notbuilt $f"
        continue
    fi
    echo "$exported" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
    err "declared in the header but not exported:$missing"
else
    echo "ok: every declared function of the built families is exported"
fi
[ -z "$notbuilt" ] ||
    echo "note: families not in this build, not checked:$notbuilt"

# 4. the static archive: columns of readelf -s are
#    Num Value Size Type Bind Vis Ndx Name
bad_vis=$("$readelf" -sW "$archive" 2>/dev/null | awk '
    ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && NF >= 8 {
        print $6, $8 }' | sort -u)
hidden_count=0
while read -r vis name; do
    [ -n "$name" ] || continue
    if echo "$api" | grep -qx "$name"; then
        [ "$vis" = DEFAULT ] ||
            err "libsimdnn.a: public $name has visibility $vis"
    else
        case "$name" in
        Sleef_*) err "libsimdnn.a bundles SLEEF's $name" ;;
        esac
        if [ "$vis" = HIDDEN ] || [ "$vis" = INTERNAL ]; then
            hidden_count=$((hidden_count + 1))
        else
            err "libsimdnn.a: internal symbol $name has visibility $vis"
        fi
    fi
done <<<"$bad_vis"
echo "libsimdnn.a: $hidden_count internal global symbols, all hidden"

if [ "$fail" -eq 0 ]; then
    echo "ABI check passed"
else
    echo "ABI check FAILED"
fi
exit "$fail"
