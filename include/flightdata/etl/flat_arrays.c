/* One pass over the rows of an OpenSky /states/all body, straight into Arrow buffers.
 *
 * The rows are flat JSON arrays, "[v,v,...],[v,...]". Each value is checked against the
 * JSON grammar and its column's type as it is read: a string column takes a string or null,
 * a float column any JSON number or null, an integer column a number without fraction or
 * exponent, a boolean column true, false or null, the sensors column null alone. The pass
 * refuses (returns -1) at the first byte it cannot prove a JSON parser reads the same way:
 * whitespace, an escape, a nested array, a row of another width, a value of the wrong
 * type, a number out of its column's range. flat_arrays.py then hands the body to the
 * strict parser, which keeps those rows and quarantines them with their reason.
 *
 * Numbers are read as a JSON parser reads them (a correctly rounded double), then stored
 * as the column's type, so a float column's value is the double cast to float, as the
 * strict path's pyarrow conversion makes it. An integer spelt in a float column is that
 * integer's float, as orjson gives an int (so "-0" is 0.0, not -0.0), and only up to 2^24,
 * as pyarrow takes an int into a float column.
 *
 * No Python header: flat_arrays.py calls it through ctypes, so one build serves any Python.
 * Build: flightdata_cdk/native.py.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum kind { STRING = 's', FLOAT = 'f', INT64 = 'l', INT32 = 'i', BOOL = 'b', NULL_ONLY = 'n' };

struct column {
    void *values;      /* float, int64_t or int32_t per row; a bit per row (bool); int32_t offsets (string) */
    uint8_t *validity; /* a bit per row, set where the value is not null */
    uint8_t *data;     /* a string column's bytes, end to end */
    int64_t nulls;
};

static const double POWERS_OF_TEN[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#define EXACT_MANTISSA (UINT64_C(1) << 53)
#define EXACT_FLOAT_INTEGER (UINT64_C(1) << 24)

static inline int digit(const uint8_t *p, const uint8_t *end) { return p < end && (unsigned)(*p - '0') < 10; }

static inline void set_bit(uint8_t *bits, int64_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static inline const uint8_t *literal(const uint8_t *p, const uint8_t *end, const char *word, size_t n) {
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* A JSON integer: -?(0|[1-9][0-9]*), at most 18 digits, followed by no fraction or exponent. */
static const uint8_t *read_integer(const uint8_t *p, const uint8_t *end, int64_t *out) {
    int negative = p < end && *p == '-';
    p += negative;
    if (!digit(p, end)) return NULL;
    int64_t value = 0;
    if (*p == '0') {
        p++;
    } else {
        for (int n = 0; digit(p, end); p++) {
            if (++n > 18) return NULL;
            value = value * 10 + (*p - '0');
        }
    }
    if (digit(p, end) || (p < end && (*p == '.' || *p == 'e' || *p == 'E'))) return NULL;
    *out = negative ? -value : value;
    return p;
}

/* A JSON number as a correctly rounded double. The exact cases (at most 2^53 as the
 * significand, a power of ten up to 22) take one IEEE multiply or divide; the rest go
 * through strtod, which glibc rounds correctly. */
static const uint8_t *read_number(const uint8_t *p, const uint8_t *end, double *out) {
    const uint8_t *start = p;
    int negative = p < end && *p == '-';
    p += negative;
    if (!digit(p, end)) return NULL;
    uint64_t mantissa = 0;
    int digits = 0, exponent = 0, integral = 1;
    if (*p == '0') {
        p++;
        if (digit(p, end)) return NULL; /* a leading zero */
    } else {
        for (; digit(p, end); p++, digits++) mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        integral = 0;
        p++;
        if (!digit(p, end)) return NULL;
        for (; digit(p, end); p++, digits++, exponent--) mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        p++;
        int exponent_negative = p < end && *p == '-';
        p += p < end && (*p == '-' || *p == '+');
        if (!digit(p, end)) return NULL;
        int written = 0;
        for (; digit(p, end); p++) written = written < 10000 ? written * 10 + (*p - '0') : written;
        exponent += exponent_negative ? -written : written;
    }
    if (integral) {
        /* orjson gives an int, which pyarrow stores in a float column only up to 2^24, where
         * every int is exact; past that the strict path quarantines it. No negative zero. */
        if (digits > 8 || mantissa > EXACT_FLOAT_INTEGER) return NULL;
        *out = (double)(negative ? -(int64_t)mantissa : (int64_t)mantissa);
        return p;
    }
    if (digits <= 19 && mantissa <= EXACT_MANTISSA) {
        if (exponent >= -22 && exponent <= 22) {
            double value = exponent < 0 ? (double)mantissa / POWERS_OF_TEN[-exponent]
                                        : (double)mantissa * POWERS_OF_TEN[exponent];
            *out = negative ? -value : value;
            return p;
        }
    }
    char text[64];
    size_t length = (size_t)(p - start);
    if (length >= sizeof text) return NULL;
    memcpy(text, start, length);
    text[length] = '\0';
    char *parsed;
    *out = strtod(text, &parsed);
    return parsed == text + length ? p : NULL; /* all of it, whatever the locale */
}

/* The bytes after a UTF-8 lead byte that make one well-formed character, or 0. */
static int utf8_length(const uint8_t *p, const uint8_t *end) {
    uint8_t c = p[0];
    int n;
    uint8_t low = 0x80, high = 0xBF; /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;
    } else return 0;
    if (end - p < n || p[1] < low || p[1] > high) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* A JSON string without escapes or control characters, copied to the column's data. */
static const uint8_t *read_string(const uint8_t *p, const uint8_t *end, uint8_t *data, int32_t *used) {
    const uint8_t *start = ++p;
    while (p < end && *p != '"') {
        if (*p < 0x20 || *p == '\\') return NULL;
        if (*p < 0x80) {
            p++;
        } else {
            int n = utf8_length(p, end);
            if (!n) return NULL;
            p += n;
        }
    }
    if (p >= end) return NULL;
    size_t length = (size_t)(p - start);
    memcpy(data + *used, start, length);
    *used += (int32_t)length;
    return p + 1;
}

static const uint8_t *read_value(const uint8_t *p, const uint8_t *end, char kind, struct column *column,
                                 int64_t row, int32_t *used) {
    if (*p == 'n') { /* null, in any column */
        p = literal(p, end, "null", 4);
        if (p) {
            column->nulls++;
            if (kind == STRING) ((int32_t *)column->values)[row + 1] = *used;
        }
        return p;
    }
    switch (kind) {
    case STRING:
        if (*p != '"' || !(p = read_string(p, end, column->data, used))) return NULL;
        ((int32_t *)column->values)[row + 1] = *used;
        break;
    case FLOAT: {
        double value;
        if (!(p = read_number(p, end, &value))) return NULL;
        float stored = (float)value;
        if (!isfinite(stored)) return NULL; /* beyond float's range: the strict path decides */
        ((float *)column->values)[row] = stored;
        break;
    }
    case INT64:
    case INT32: {
        int64_t value;
        if (!(p = read_integer(p, end, &value))) return NULL;
        if (kind == INT64) {
            ((int64_t *)column->values)[row] = value;
        } else {
            if (value < INT32_MIN || value > INT32_MAX) return NULL;
            ((int32_t *)column->values)[row] = (int32_t)value;
        }
        break;
    }
    case BOOL: {
        const uint8_t *after = literal(p, end, "true", 4);
        if (after) {
            set_bit((uint8_t *)column->values, row);
        } else if (!(after = literal(p, end, "false", 5))) {
            return NULL;
        }
        p = after;
        break;
    }
    default: /* NULL_ONLY: sensors is never sent on /states/all */
        return NULL;
    }
    set_bit(column->validity, row);
    return p;
}

/* Where the passes write: column i's values at values + i * values_stride (a bitmap for a
 * boolean column, int32 offsets for a string column), its validity bitmap at validity +
 * i * validity_stride, and a string column's bytes at data + (its rank among the string
 * columns) * data_stride. */
struct layout {
    uint8_t *values, *validity, *data;
    int64_t values_stride, validity_stride, data_stride;
};

static inline uint8_t *values_of(const struct layout *layout, int i) { return layout->values + i * layout->values_stride; }
static inline uint8_t *validity_of(const struct layout *layout, int i) {
    return layout->validity + i * layout->validity_stride;
}
static int value_size(char kind) { return kind == INT64 ? 8 : kind == FLOAT || kind == INT32 ? 4 : 0; }

/* Reads the rows body[start:stop], "[v,...],[v,...]" with nothing before, between or after
 * but the commas that join them, as rows first_row (a multiple of 8) onwards, at most
 * capacity of them; a string column's bytes go from data_offset onwards in its region.
 * kinds[i] is column i's kind. Fills nulls (per column), row_starts (where each row's '['
 * is) and *width (the values in a row: every row has the first one's). Returns the number
 * of rows, or -1 when the bytes are not in this form or a value is not its column's type.
 * The pass zeroes the bitmap bytes of its own rows, so the memory may hold anything. */
int64_t flightdata_read_rows(const uint8_t *body, int64_t start, int64_t stop, const char *kinds, int min_width,
                             int max_width, const struct layout *layout, int64_t first_row, int64_t capacity,
                             int32_t data_offset, int64_t *nulls, int64_t *row_starts, int32_t *width) {
    const uint8_t *p = body + start, *end = body + stop;
    struct column columns[64];
    int32_t used[64]; /* each string column's end of data so far */
    if (max_width > 64 || first_row % 8) return -1;
    for (int i = 0, strings = 0; i < max_width; i++) {
        columns[i].values = values_of(layout, i);
        columns[i].validity = validity_of(layout, i);
        columns[i].data = kinds[i] == STRING ? layout->data + strings++ * layout->data_stride : NULL;
        columns[i].nulls = 0;
        used[i] = data_offset;
        memset(columns[i].validity + first_row / 8, 0, (size_t)(capacity + 7) / 8);
        if (kinds[i] == BOOL) memset((uint8_t *)columns[i].values + first_row / 8, 0, (size_t)(capacity + 7) / 8);
        if (kinds[i] == STRING) ((int32_t *)columns[i].values)[first_row] = data_offset;
    }
    *width = 0;
    for (int64_t row = 0;; row++) {
        if (row >= capacity || p >= end || *p != '[') return -1;
        row_starts[row] = p - body;
        p++;
        int column = 0;
        for (;;) {
            if (column >= max_width || p >= end) return -1;
            p = read_value(p, end, kinds[column], &columns[column], first_row + row, &used[column]);
            if (!p) return -1;
            column++;
            if (p >= end) return -1;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p++ != ']') return -1;
            break;
        }
        if (row == 0 && column >= min_width) *width = column;
        if (column != *width) return -1;
        if (p == end) {
            for (int i = 0; i < max_width; i++) nulls[i] = columns[i].nulls;
            return row + 1;
        }
        if (*p++ != ',') return -1;
    }
}

/* Moves n bits from bit `from` (a multiple of 8) down to bit `to`, a byte at a time. Each
 * source byte is read before the byte it lands in is written, since the target lies below. */
static void move_bits(uint8_t *bits, int64_t to, int64_t from, int64_t n) {
    int shift = (int)(to & 7);
    uint8_t *out = bits + (to >> 3);
    const uint8_t *in = bits + (from >> 3);
    int64_t bytes = (n + 7) / 8;
    if (n <= 0) return;
    if (shift == 0) {
        memmove(out, in, (size_t)bytes);
        return;
    }
    uint8_t carry = out[0] & (uint8_t)((1u << shift) - 1); /* the first pass's last bits stay */
    for (int64_t i = 0; i < bytes; i++) {
        uint8_t byte = in[i];
        out[i] = carry | (uint8_t)(byte << shift);
        carry = (uint8_t)(byte >> (8 - shift));
    }
    if (n > bytes * 8 - shift) out[bytes] = carry; /* the last bits spill into one more byte */
}

/* Moves the rows a second pass read from row second_row (its strings' bytes from
 * data_offset) down to row rows, right after the first pass's, so that each column is one
 * run of rows: the values and bitmaps move, and the string offsets shift. */
void flightdata_join_rows(const struct layout *layout, const char *kinds, int width, int64_t rows,
                          int64_t second_row, int64_t second_rows, int32_t data_offset) {
    for (int i = 0, strings = 0; i < width; i++) {
        uint8_t *values = values_of(layout, i);
        move_bits(validity_of(layout, i), rows, second_row, second_rows);
        if (kinds[i] == BOOL) {
            move_bits(values, rows, second_row, second_rows);
        } else if (kinds[i] == STRING) {
            int32_t *offsets = (int32_t *)values;
            uint8_t *data = layout->data + strings++ * layout->data_stride;
            int32_t joined = offsets[rows], length = offsets[second_row + second_rows] - data_offset;
            memmove(data + joined, data + data_offset, (size_t)length);
            for (int64_t r = 1; r <= second_rows; r++) offsets[rows + r] = offsets[second_row + r] - data_offset + joined;
        } else if (value_size(kinds[i])) {
            int size = value_size(kinds[i]);
            memmove(values + rows * size, values + second_row * size, (size_t)(second_rows * size));
        }
    }
}
