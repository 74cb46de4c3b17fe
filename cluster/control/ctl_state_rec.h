/*
 * flockerfs — the records of flocker-control's registry (private to
 * cluster/control): msgpack maps with small integer keys, key 0 the version.
 * Each enc_ fills e (fl_pk_init'd here; the caller frees it); each dec_ fills
 * the record from a stored value and its key's uuid: 0 or -errno (-EBADMSG
 * for a record it cannot read), leaving nothing to free on failure.
 */
#ifndef FLOCKER_CTL_STATE_REC_H
#define FLOCKER_CTL_STATE_REC_H

#include <stddef.h>

#include "cluster/control/ctl_state.h"
#include "flocker/proto.h"

#define REC_VER 1

int fl_state_enc_ds(const struct fl_ds *d, struct fl_frame_enc *e);
int fl_state_enc_lease(const struct fl_lease *l, struct fl_frame_enc *e);
int fl_state_enc_trash(const struct fl_trash *t, struct fl_frame_enc *e);
int fl_state_enc_node(const struct fl_node_rec *n, struct fl_frame_enc *e);
int fl_state_dec_ds(const char *uuid, const void *p, size_t len, struct fl_ds *d);
int fl_state_dec_lease(const char *uuid, const void *p, size_t len, struct fl_lease *l);
int fl_state_dec_trash(const char *uuid, const void *p, size_t len, struct fl_trash *t);
int fl_state_dec_node(const char *uuid, const void *p, size_t len, struct fl_node_rec *n);

#endif
