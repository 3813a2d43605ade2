/*
 * ms_priv – dropping root once everything that needs it is open.
 */
#ifndef MS_PRIV_H
#define MS_PRIV_H

#include <stddef.h>

/*
 * When running as root and user is not empty: switches to user's uid, gid
 * and supplementary groups (so a member of "adm" can still read logs) and
 * checks that root cannot be regained. Not root, or no user: nothing to do.
 * Returns 0, or -1 with the reason in err (the caller must then stop).
 */
int ms_priv_drop(const char *user, char *err, size_t errsz);
/*
 * A daemon started as root with no user to drop to (its config key, such
 * as "collector.user", empty): says once that it keeps every privilege,
 * as a warning (nothing is dropped without a word).
 */
void ms_priv_root_said(const char *user, const char *key);

/*
 * ms_priv_drop for a packet capture: when root drops to user, CAP_NET_RAW
 * (and no other capability) is kept, so a capture can be opened again
 * later (interface gone and back). Checks that nothing else remains.
 * Not root, or no user: as ms_priv_drop. 0, or -1 with the reason in err.
 */
int ms_priv_drop_keep_net_raw(const char *user, char *err, size_t errsz);

/*
 * Before ms_priv_drop: gives dir and the regular files directly in it to
 * user, so the daemon can keep writing its state there. Root only; a no-op
 * otherwise. 0, or -1 with the reason in err.
 */
int ms_priv_give_dir(const char *user, const char *dir, char *err, size_t errsz);

#endif
