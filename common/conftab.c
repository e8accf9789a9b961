/* conftab: the table-driven configuration engine (see conftab.h).
 *
 * Reading: libconfig parses the file; the text is then scanned once for
 * integer literals it has cut to 32 bits (scan_wide), which conftab_int_of()
 * recognises by line and cut value. Loading: each item's type writes its
 * default and, for a setting present, checks and stores it; a list of
 * groups loads each element with its key table. Every problem goes through
 * conftab_err(), which prints it (confmsg) and counts it; nothing stops at
 * the first one.
 */
#include "conftab.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "confmsg.h"

/* Enums and uint32_t fields are stored through int / unsigned copies. */
_Static_assert(sizeof(uint32_t) == sizeof(unsigned), "uint32_t is an unsigned");

/* ---- reading ---- */

void conftab_init(struct conftab *ct, const char *path, FILE *errs)
{
	memset(ct, 0, sizeof(*ct));
	ct->path = path;
	ct->errs = errs;
}

/* libconfig 1.5 reads an integer literal without an L suffix as an int,
 * silently keeping the low 32 bits of a longer one (10000000000 becomes
 * 1410065408, which some range might accept). So the text is scanned for
 * such literals, outside strings and comments, and conftab_int_of()
 * recognises a setting read from one by its line and cut value. */
static void scan_wide(struct conftab *ct, const char *t)
{
	int line = 1;
	const char *p = t;

	while (*p) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '\n') {
			line++, p++;
		} else if (ch == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			if (*p)
				p++;
		} else if (ch == '#' || (ch == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (ch == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			if (*p)
				p += 2;
		} else if (isalpha(ch) || ch == '*') { /* a name: [A-Za-z*][-A-Za-z0-9_*]* */
			while (isalnum((unsigned char)*p) || (*p && strchr("-_*", *p)))
				p++;
		} else if (isdigit(ch)) {
			bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
			const char *s = !hex && p > t && (p[-1] == '-' || p[-1] == '+') ? p - 1 : p;
			size_t n;
			char tok[24];

			while (isalnum((unsigned char)*p) || *p == '.' ||
			       (!hex && (*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
				p++;
			n = (size_t)(p - s);
			if (n >= sizeof(tok) || ct->nwide >= CONFTAB_MAX_WIDE)
				continue; /* not an int libconfig accepts, or too many */
			memcpy(tok, s, n);
			tok[n] = '\0';
			if (hex) {
				if (strspn(tok + 2, "0123456789abcdefABCDEF") != n - 2 ||
				    strtoull(tok + 2, NULL, 16) <= 0xffffffffull)
					continue;
				ct->wide[ct->nwide].trunc = (int)strtoul(tok, NULL, 16);
			} else {
				size_t sign = tok[0] == '-' || tok[0] == '+';
				long long v;

				if (strspn(tok + sign, "0123456789") != n - sign)
					continue; /* a float, an int64 (L), or a syntax error */
				errno = 0;
				v = strtoll(tok, NULL, 10);
				if (v >= INT_MIN && v <= INT_MAX && errno != ERANGE)
					continue;
				ct->wide[ct->nwide].trunc = (int)strtol(tok, NULL, 10);
			}
			ct->wide[ct->nwide].line = line;
			memcpy(ct->wide[ct->nwide++].text, tok, n + 1);
		} else {
			p++;
		}
	}
}

static int read_error(struct conftab *ct, const config_t *cfg)
{
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		fprintf(ct->errs, "%s:0: (file): cannot read: %s\n", ct->path, strerror(errno));
	else
		fprintf(ct->errs, "%s:%d: (syntax): %s\n",
			config_error_file(cfg) ? config_error_file(cfg) : ct->path, config_error_line(cfg),
			config_error_text(cfg));
	return -1;
}

/* The whole of a (small) file as a string, for scan_wide(); NULL if it
 * cannot be read (then there is nothing to scan). */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = cap < (16u << 20) ? realloc(buf, cap + 65536) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int conftab_read_file(struct conftab *ct, config_t *cfg)
{
	char *text;

	errno = 0;
	if (config_read_file(cfg, ct->path) != CONFIG_TRUE)
		return read_error(ct, cfg);
	if ((text = read_text(ct->path)))
		scan_wide(ct, text);
	free(text);
	return 0;
}

int conftab_read_string(struct conftab *ct, config_t *cfg, const char *text)
{
	if (config_read_string(cfg, text) != CONFIG_TRUE)
		return read_error(ct, cfg);
	scan_wide(ct, text);
	return 0;
}

/* ---- messages and single values ---- */

void conftab_err(struct conftab *ct, const config_setting_t *s, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	confmsg_vreport(ct->errs, ct->path, s, name, fmt, ap);
	va_end(ap);
	ct->nerr++;
}

const char *conftab_key_path(const config_setting_t *g, const char *key, char *buf, size_t n)
{
	size_t l;

	confmsg_path(g, buf, n);
	l = strlen(buf);
	snprintf(buf + l, n - l, "%s%s", l ? "." : "", key);
	return buf;
}

const char *conftab_str_of(struct conftab *ct, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		conftab_err(ct, s, NULL, "must be a string");
		return NULL;
	}
	return config_setting_get_string(s);
}

/* The literal of the text that libconfig read as int s, if it was cut. */
static const struct conftab_wide *wide_of(const struct conftab *ct, const config_setting_t *s, int v)
{
	const char *file = config_setting_source_file(s);

	if (file && strcmp(file, ct->path))
		return NULL; /* an @include'd file: not scanned */
	for (unsigned i = 0; i < ct->nwide; i++)
		if (ct->wide[i].line == (int)config_setting_source_line(s) && ct->wide[i].trunc == v)
			return &ct->wide[i];
	return NULL;
}

bool conftab_int_of(struct conftab *ct, const config_setting_t *s, long long min, long long max,
		    long long *out)
{
	const struct conftab_wide *w;
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		v = config_setting_get_int(s);
		if ((w = wide_of(ct, s, (int)v))) {
			conftab_err(ct, s, NULL, "%s is out of range %lld..%lld", w->text, min, max);
			return false;
		}
	} else if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
	} else {
		conftab_err(ct, s, NULL, "must be an integer");
		return false;
	}
	if (v < min || v > max) {
		conftab_err(ct, s, NULL, "%lld is out of range %lld..%lld", v, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool conftab_array(struct conftab *ct, const config_setting_t *s, const char *example)
{
	if (!config_setting_is_array(s)) {
		conftab_err(ct, s, NULL, "must be an array of strings [ %s ]", example);
		return false;
	}
	return true;
}

bool conftab_each_str(struct conftab *ct, const config_setting_t *s, const char *example,
		      conftab_each_fn *each, void *arg)
{
	if (!conftab_array(ct, s, example))
		return false;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = conftab_str_of(ct, e);

		if (v && !each(ct, e, v, arg))
			break;
	}
	return true;
}

const char *conftab_str_get(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it)
{
	const char *v = conftab_str_of(ct, s);
	size_t len;

	if (!v)
		return NULL;
	len = strlen(v);
	if (len < (size_t)it->min) {
		conftab_err(ct, s, NULL, "must not be empty");
		return NULL;
	}
	if (len >= it->size) {
		conftab_err(ct, s, NULL, "longer than %zu characters", it->size - 1);
		return NULL;
	}
	return v;
}

void conftab_choices_text(const struct conftab_choice *ch, char *buf, size_t n)
{
	size_t l = 0;

	buf[0] = '\0';
	for (; ch->name && l < n; ch++)
		l += (size_t)snprintf(buf + l, n - l, "%s%s", l ? ", " : "", ch->name);
}

/* conftab_name_list()'s walk: its arguments and what it found so far. */
struct name_list {
	const char *unknown;
	int (*index_of)(const char *name, const void *arg);
	const void *arg;
	int *order;
	unsigned max;
	unsigned *n;
	uint32_t seen;
};

static bool name_list_one(struct conftab *ct, const config_setting_t *e, const char *v, void *arg)
{
	struct name_list *l = arg;
	int k;

	if ((k = l->index_of(v, l->arg)) < 0 || k > 31) {
		conftab_err(ct, e, NULL, "\"%s\" %s", v, l->unknown);
		return true;
	}
	if (l->seen & (1u << k)) {
		conftab_err(ct, e, NULL, "\"%s\" is listed twice", v);
		return true;
	}
	l->seen |= 1u << k;
	if (l->order && *l->n < l->max)
		l->order[*l->n] = k;
	(*l->n)++;
	return true;
}

uint32_t conftab_name_list(struct conftab *ct, const config_setting_t *s, const char *example,
			   const char *empty, const char *unknown,
			   int (*index_of)(const char *name, const void *arg), const void *arg,
			   int *order, unsigned max, unsigned *n)
{
	struct name_list l = {unknown, index_of, arg, order, max, n, 0};

	*n = 0;
	if (!conftab_array(ct, s, example))
		return 0;
	if (config_setting_length(s) == 0) {
		conftab_err(ct, s, NULL, "%s", empty);
		return 0;
	}
	conftab_each_str(ct, s, example, name_list_one, &l);
	return l.seen;
}

/* ---- the engine's types ---- */

/* An integer item's value into its field: a uint16_t, an unsigned, or an
 * int (conftab_int, conftab_enum). */
static void int_store(const struct conftab_item *it, char *base, long long v)
{
	char *dst = base + it->off;
	uint16_t h = (uint16_t)v;
	unsigned u = (unsigned)v;
	int i = (int)v;

	if (it->type == &conftab_u16)
		memcpy(dst, &h, sizeof(h));
	else if (it->type == &conftab_uint)
		memcpy(dst, &u, sizeof(u));
	else
		memcpy(dst, &i, sizeof(i));
}

static void int_init(const struct conftab_item *it, char *base)
{
	int_store(it, base, it->dflt);
}

static void int_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		     char *base)
{
	long long n;

	if (conftab_int_of(ct, s, it->min, it->max, &n))
		int_store(it, base, n);
}

static void bool_init(const struct conftab_item *it, char *base)
{
	bool v = it->dflt != 0;

	memcpy(base + it->off, &v, sizeof(v));
}

static void bool_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	bool v;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		conftab_err(ct, s, NULL, "must be true or false");
		return;
	}
	v = config_setting_get_bool(s);
	memcpy(base + it->off, &v, sizeof(v));
}

void conftab_str_init(const struct conftab_item *it, char *base)
{
	snprintf(base + it->off, it->size, "%s", it->dflt_s ? it->dflt_s : "");
}

static void str_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		     char *base)
{
	const char *v = conftab_str_get(ct, s, it);

	if (v)
		memcpy(base + it->off, v, strlen(v) + 1);
}

static void enum_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	const char *v = conftab_str_of(ct, s);
	char names[128];

	if (!v)
		return;
	for (const struct conftab_choice *ch = it->choices; ch->name; ch++)
		if (!strcmp(v, ch->name)) {
			memcpy(base + it->off, &ch->value, sizeof(int));
			return;
		}
	conftab_choices_text(it->choices, names, sizeof(names));
	conftab_err(ct, s, NULL, "\"%s\" is not one of %s", v, names);
}

static void enumlist_init(const struct conftab_item *it, char *base)
{
	unsigned n = 0;

	for (; it->choices[n].name && n < it->size; n++)
		((int *)(void *)(base + it->off))[n] = it->choices[n].value;
	memcpy(base + it->off2, &n, sizeof(n));
}

static int choice_index(const char *name, const void *arg)
{
	const struct conftab_choice *ch = arg;

	for (int k = 0; ch[k].name; k++)
		if (!strcmp(ch[k].name, name))
			return k;
	return -1;
}

static void enumlist_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	int *v = (int *)(void *)(base + it->off);
	unsigned n;
	char names[128], empty[160], unknown[160];

	conftab_choices_text(it->choices, names, sizeof(names));
	snprintf(empty, sizeof(empty), "must name at least one of %s", names);
	snprintf(unknown, sizeof(unknown), "is not one of %s", names);
	conftab_name_list(ct, s, names, empty, unknown, choice_index, it->choices, v, (unsigned)it->size, &n);
	if (n > it->size)
		n = (unsigned)it->size;
	for (unsigned i = 0; i < n; i++)
		v[i] = it->choices[v[i]].value;
	memcpy(base + it->off2, &n, sizeof(n));
}

const struct conftab_type conftab_int = {int_init, int_load};
const struct conftab_type conftab_uint = {int_init, int_load};
const struct conftab_type conftab_u16 = {int_init, int_load};
const struct conftab_type conftab_bool = {bool_init, bool_load};
const struct conftab_type conftab_str = {conftab_str_init, str_load};
const struct conftab_type conftab_enum = {int_init, enum_load};
const struct conftab_type conftab_enumlist = {enumlist_init, enumlist_load};

/* ---- tables ---- */

static bool in_names(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static const struct conftab_item *item_of(const char *path, const struct conftab_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(items[i].path, path))
			return &items[i];
	return NULL;
}

void conftab_check_unknown(struct conftab *ct, const config_setting_t *root,
			   const struct conftab_item *items, size_t nitems, const char *const *groups,
			   size_t ngroups, const struct conftab_list *lists, size_t nlists)
{
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		bool list = false;

		for (size_t k = 0; k < nlists; k++)
			list |= !strcmp(lists[k].path, name);
		if (list)
			continue;
		if (in_names(name, groups, ngroups)) {
			if (!config_setting_is_group(s)) {
				conftab_err(ct, s, NULL, "must be a group { ... }");
				continue;
			}
			for (int j = 0; j < config_setting_length(s); j++) {
				const config_setting_t *m = config_setting_get_elem(s, (unsigned)j);
				char p[128];

				snprintf(p, sizeof(p), "%s.%s", name, config_setting_name(m));
				if (!item_of(p, items, nitems))
					conftab_err(ct, m, p, "unknown setting");
			}
		} else if (!item_of(name, items, nitems)) {
			conftab_err(ct, s, NULL, "unknown setting");
		}
	}
}

void conftab_check_members(struct conftab *ct, const config_setting_t *g, const char *const *keys,
			   size_t n)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);

		if (name && !in_names(name, keys, n))
			conftab_err(ct, m, NULL, "unknown setting");
	}
}

void conftab_load_items(struct conftab *ct, const config_t *cfg, const struct conftab_item *items,
			size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *s = config_lookup(cfg, items[i].path);

		if (items[i].type->init)
			items[i].type->init(&items[i], base);
		if (s)
			items[i].type->load(ct, s, &items[i], base);
	}
}

unsigned conftab_load_list(struct conftab *ct, const config_t *cfg, const struct conftab_list *L,
			   void *elems, const config_setting_t **groups)
{
	const config_setting_t *list = config_lookup(cfg, L->path);
	unsigned n = 0;

	if (!list)
		return 0;
	/* "( )" and "[ ]" both read as an empty list */
	if (!config_setting_is_list(list) &&
	    !(config_setting_is_array(list) && config_setting_length(list) == 0)) {
		conftab_err(ct, list, NULL, "must be a list ( %s, ... )", L->shape);
		return 0;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		char *e;

		if (!config_setting_is_group(g)) {
			conftab_err(ct, g, NULL, "must be a group %s", L->shape);
			continue;
		}
		if (n >= L->max) {
			conftab_err(ct, g, NULL, "more than %u entries", L->max);
			break;
		}
		e = (char *)elems + n * L->stride;
		groups[n++] = g;
		for (int j = 0; j < config_setting_length(g); j++) {
			const config_setting_t *m = config_setting_get_elem(g, (unsigned)j);

			if (!item_of(config_setting_name(m), L->keys, L->nkeys))
				conftab_err(ct, m, NULL, "unknown setting");
		}
		for (size_t k = 0; k < L->nkeys; k++) {
			const struct conftab_item *it = &L->keys[k];
			const config_setting_t *m = config_setting_get_member(g, it->path);
			char p[160];

			if (it->type->init)
				it->type->init(it, e);
			if (m)
				it->type->load(ct, m, it, e);
			else if (it->flags & CONFTAB_REQ)
				conftab_err(ct, g, conftab_key_path(g, it->path, p, sizeof(p)), "missing");
		}
		if (L->check)
			L->check(ct, g, e);
	}
	return n;
}
