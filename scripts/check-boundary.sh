#!/bin/sh
# The platform boundary (docs/design.md, "The platform boundary"): the calls
# below may appear only in src/platform/.  Everything else in src/ blocks
# through the wait layer (src/wait/) and reaches the kernel through the small
# functions of src/platform/.  Fails, naming file:line, on any use elsewhere.
# Comments and string literals are stripped first (gcc -fpreprocessed -E
# removes comments without expanding macros or includes).
# usage: scripts/check-boundary.sh [DIR]   (default: src; relative to the repository)
set -eu
cd "$(dirname "$0")/.."
src=${1:-src}
cc=${BOUNDARY_CPP_CC:-gcc}  # needs GCC's -fpreprocessed

# The deny-list.  Keep it short and keep docs/design.md saying the same.
#   blocking:          futex poll ppoll epoll_wait epoll_pwait select pselect
#                      read write readv writev recv send recvmsg sendmsg
#                      accept accept4 connect nanosleep clock_nanosleep usleep
#                      sleep waitpid waitid wait pthread_join sem_wait
#                      sem_timedwait pthread_cond_wait pthread_cond_timedwait
#                      sigwait sigwaitinfo sigtimedwait sigsuspend pause
#   process creation:  fork vfork clone clone3 execl execlp execle execv
#                      execvp execvpe execve fexecve posix_spawn posix_spawnp
#   raw entry:         syscall
#   kept in platform:  pthread_sigmask sigprocmask sigaction signal mmap munmap
#                      shm_open shm_unlink   (moved there in issue 11)
deny='futex|poll|ppoll|epoll_wait|epoll_pwait|select|pselect'
deny="$deny|read|write|readv|writev|recv|send|recvmsg|sendmsg|accept|accept4|connect"
deny="$deny|nanosleep|clock_nanosleep|usleep|sleep|waitpid|waitid|wait|pthread_join"
deny="$deny|sem_wait|sem_timedwait|pthread_cond_wait|pthread_cond_timedwait"
deny="$deny|sigwait|sigwaitinfo|sigtimedwait|sigsuspend|pause"
deny="$deny|fork|vfork|clone|clone3|execl|execlp|execle|execv|execvp|execvpe|execve|fexecve"
deny="$deny|posix_spawn|posix_spawnp|syscall"
deny="$deny|pthread_sigmask|sigprocmask|sigaction|signal|mmap|munmap|shm_open|shm_unlink"

# A call: the name not preceded by an identifier character, '.' or '->'
# (struct members such as c->read are fine), followed by '('.
re="(^|[^A-Za-z0-9_.>])($deny)[[:space:]]*\\("

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bad=0
for f in $(find "$src" -name '*.[ch]' ! -path '*/platform/*' | sort); do
  # A file that cannot be read must fail the check, not pass it.
  "$cc" -fpreprocessed -dD -E -x c "$f" > "$tmp" ||
    { echo "check-boundary: cannot strip comments from $f with $cc" >&2; exit 2; }
  # Line markers ('# N "file"') keep the file's line numbers; string
  # literals are emptied.
  hits=$(sed -e 's/"\([^"\\]\|\\.\)*"/""/g' "$tmp" |
    awk -v re="$re" -v f="$f" '
      /^# [0-9]+ "/ { ln = $2; next }
      { if ($0 ~ re) print f ":" ln ": " $0; ln++ }')
  if [ -n "$hits" ]; then echo "$hits"; bad=1; fi
done
if [ "$bad" -ne 0 ]; then
  echo "check-boundary: the calls above belong behind a function in src/platform/" >&2
  exit 1
fi
echo "check-boundary: no denied call outside src/platform/"
