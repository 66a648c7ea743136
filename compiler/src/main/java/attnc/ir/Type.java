package attnc.ir;

/** The three scalar types of the language. Integers are 32-bit two's complement, as in every kernel. */
public enum Type {
    INT("int"), FLOAT("float"), BOOL("bool");

    private final String spelling;

    Type(String spelling) { this.spelling = spelling; }

    public String spelling() { return spelling; }

    public static Type ofSpelling(String text) {
        for (Type t : values()) if (t.spelling.equals(text)) return t;
        throw new IllegalArgumentException("not a type: " + text);
    }

    @Override public String toString() { return spelling; }
}
