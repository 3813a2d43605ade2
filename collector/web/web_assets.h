/*
 * web_assets – the dashboard's static files (collector/web/assets),
 * compiled into minisoc-web by embed.cmake: nothing is read from disk and
 * nothing is loaded from elsewhere at run time.
 */
#ifndef WEB_ASSETS_H
#define WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path;		/* "/app.js" */
	const char *type;		/* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The asset served at path, or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
