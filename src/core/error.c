/* mt_strerror / mt_err_name, generated from MT_ERROR_LIST. */
#include "multitask/error.h"

const char *mt_strerror(int code) {
  if (code == 0) return "success";
  switch (code) {
#define MT__ERR_MSG(name, value, msg) case (value): return msg;
    MT_ERROR_LIST(MT__ERR_MSG)
#undef MT__ERR_MSG
  }
  return "unknown error";
}

const char *mt_err_name(int code) {
  if (code == 0) return "MT_OK";
  switch (code) {
#define MT__ERR_NAME(name, value, msg) case (value): return "MT_" #name;
    MT_ERROR_LIST(MT__ERR_NAME)
#undef MT__ERR_NAME
  }
  return "MT_UNKNOWN";
}
