package attnc.ir;

/**
 * The index variables of the kernel's iteration space. {@code q} and {@code kv} are absolute
 * positions (a query offset places a short query block at the end of a long KV sequence);
 * {@code d} is the output channel and exists only in the output section.
 */
public enum Index {
    B("b"), H("h"), Q("q"), KV("kv"), D("d");

    private final String spelling;

    Index(String spelling) { this.spelling = spelling; }

    public String spelling() { return spelling; }

    @Override public String toString() { return spelling; }
}
