/* conftab: the table-driven engine under natd's and sipproxy's strict
 * configuration loaders (libconfig syntax).
 *
 * A loader describes each setting once, as a struct conftab_item: dotted
 * path (or a list element's key), type, range, default, and where the value
 * goes (offsets from the base of the loader's struct). A type is a pair of
 * functions: init writes the item's default, load checks a setting that is
 * present and stores it. The engine provides the common types (integers,
 * bool, strings, one name of a fixed set, a list of such names); a loader
 * builds its own from the same helpers (conftab_str_get, conftab_int_of,
 * conftab_array, conftab_name_list...).
 *
 * The engine also reads the file: syntax errors, and a scan of the text for
 * the integer literals libconfig 1.5 silently cuts to 32 bits, so that
 * 10000000000 is refused as written instead of read as 1410065408. It
 * reports every setting that no table knows, loads the items and the lists
 * of groups, and prints each problem as one line "file:line: setting:
 * problem" (see confmsg.h), counting them in nerr without stopping: the
 * loader adds its cross-field checks and fails if nerr is not 0.
 */
#ifndef CONFTAB_H
#define CONFTAB_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFTAB_MAX_WIDE 64 /* cut literals remembered per file */

/* An integer literal of the text that does not fit in 32 bits and has no
 * L suffix: libconfig 1.5 keeps only its low 32 bits (trunc). */
struct conftab_wide {
	int line;
	int trunc;
	char text[24];
};

/* One load: where problems go and how many there were. */
struct conftab {
	const char *path; /* file name for messages */
	FILE *errs;
	int nerr;
	struct conftab_wide wide[CONFTAB_MAX_WIDE];
	unsigned nwide;
};

struct conftab_item;

struct conftab_type {
	/* Write the item's default under base (NULL: the zeroed struct is it). */
	void (*init)(const struct conftab_item *it, char *base);
	/* Check setting s, present, and store it under base. */
	void (*load)(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		     char *base);
};

/* A name of a fixed set and the int it stands for. */
struct conftab_choice {
	const char *name;
	int value;
};

#define CONFTAB_REQ 1u /* a list element must have this key */

struct conftab_item {
	const char *path;                 /* dotted path, or key in a list element */
	const struct conftab_type *type;
	long long min, max;               /* range; strings: the shortest length */
	size_t off;                       /* where the value goes */
	size_t size;                      /* string buffer size, or array capacity */
	long long dflt;
	const char *dflt_s;
	size_t off2;                      /* a second field: an array's count... */
	unsigned flags;                   /* CONFTAB_REQ */
	const struct conftab_choice *choices; /* NULL-terminated */
};

/* A top-level list of groups, each loaded with the item table keys into
 * one element of an array. */
struct conftab_list {
	const char *path;
	const struct conftab_item *keys;
	size_t nkeys;
	size_t stride;     /* bytes per element */
	unsigned max;
	const char *shape; /* one element, for messages: "{ name = ...; }" */
	/* what one element needs on its own (NULL: nothing) */
	void (*check)(struct conftab *ct, const config_setting_t *g, void *elem);
};

/* int in min..max */
extern const struct conftab_type conftab_int;
/* unsigned (or uint32_t) in min..max */
extern const struct conftab_type conftab_uint;
/* uint16_t in min..max */
extern const struct conftab_type conftab_u16;
/* bool: true or false */
extern const struct conftab_type conftab_bool;
/* string of min..size-1 bytes */
extern const struct conftab_type conftab_str;
/* one of choices, stored as an int */
extern const struct conftab_type conftab_enum;
/* [ choices ], each once, at least one: int[size] in list order, count
 * (unsigned) at off2; default: every choice in the table's order */
extern const struct conftab_type conftab_enumlist;

/* Start a load reporting to errs, path naming the file in messages. */
void conftab_init(struct conftab *ct, const char *path, FILE *errs);
/* Read ct->path into cfg (config_init'ed) and scan its text for cut
 * integers. 0, or -1 once the problem ("(file): cannot read", "(syntax)")
 * has been printed. */
int conftab_read_file(struct conftab *ct, config_t *cfg);
/* The same for a configuration held in text. */
int conftab_read_string(struct conftab *ct, config_t *cfg, const char *text);

/* Report "file:line: name: problem" on setting s (name NULL: s's path;
 * s NULL: line 0) and count it. */
void conftab_err(struct conftab *ct, const config_setting_t *s, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The path of member key of group g, present or not ("nats[0].port"). */
const char *conftab_key_path(const config_setting_t *g, const char *key, char *buf, size_t n);

/* s's string, or NULL once "must be a string" is reported. */
const char *conftab_str_of(struct conftab *ct, const config_setting_t *s);
/* s's integer in min..max (a literal libconfig cut is out of range), or
 * false once the problem is reported. */
bool conftab_int_of(struct conftab *ct, const config_setting_t *s, long long min, long long max,
		    long long *out);
/* Whether s is an array; if not, "must be an array of strings [ example ]"
 * is reported. */
bool conftab_array(struct conftab *ct, const config_setting_t *s, const char *example);
/* Called by conftab_each_str() for element e of an array, a string v;
 * false stops the walk. */
typedef bool conftab_each_fn(struct conftab *ct, const config_setting_t *e, const char *v, void *arg);
/* each(ct, e, v, arg) for each element e of array s that is a string v
 * (one that is not is reported), until it returns false. False if s is not
 * an array ("must be an array of strings [ example ]"). */
bool conftab_each_str(struct conftab *ct, const config_setting_t *s, const char *example,
		      conftab_each_fn *each, void *arg);
/* s's string if it fits item it (it->min..it->size-1 bytes), else NULL
 * once the problem is reported. */
const char *conftab_str_get(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it);
/* The default of a string item (it->dflt_s, or ""). */
void conftab_str_init(const struct conftab_item *it, char *base);
/* "a, b, c": the names of choices. */
void conftab_choices_text(const struct conftab_choice *ch, char *buf, size_t n);

/* A list of names, each from a fixed set and each at most once.
 * index_of(name, arg) gives a name's index (0..31) or -1; an unknown name
 * is reported as "\"name\" <unknown>", an empty list as empty. The indexes
 * are written in list order to order[] (at most max; NULL: not kept) and
 * returned as a bit set; *n counts them. */
uint32_t conftab_name_list(struct conftab *ct, const config_setting_t *s, const char *example,
			   const char *empty, const char *unknown,
			   int (*index_of)(const char *name, const void *arg), const void *arg,
			   int *order, unsigned max, unsigned *n);

/* Report every setting of root that is neither an item nor a list; the
 * members of groups[] are items ("log.level"), each group must be one. */
void conftab_check_unknown(struct conftab *ct, const config_setting_t *root,
			   const struct conftab_item *items, size_t nitems, const char *const *groups,
			   size_t ngroups, const struct conftab_list *lists, size_t nlists);
/* Report the members of group g whose names are not in keys[]. */
void conftab_check_members(struct conftab *ct, const config_setting_t *g, const char *const *keys,
			   size_t n);
/* Each item's default under base, then its setting if cfg has one. */
void conftab_load_items(struct conftab *ct, const config_t *cfg, const struct conftab_item *items,
			size_t n, void *base);
/* The elements of list L into elems (L->max of L->stride bytes) and their
 * groups into groups[] (for later messages); the number loaded. */
unsigned conftab_load_list(struct conftab *ct, const config_t *cfg, const struct conftab_list *L,
			   void *elems, const config_setting_t **groups);

#endif
