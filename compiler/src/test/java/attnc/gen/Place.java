package attnc.gen;

/**
 * Where a generated expression stands, which decides the names it may use, as the checker does:
 * {@code kv} only per key (mask, select, score), {@code s} only in the score, {@code o} and
 * {@code d} only in the output.
 */
public enum Place {
    MASK(true, false, false),
    SCORE(true, true, false),
    SCALE(false, false, false),
    NORM(false, false, false),
    OUTPUT(false, false, true);

    private final boolean perKey;
    private final boolean score;
    private final boolean output;

    Place(boolean perKey, boolean score, boolean output) {
        this.perKey = perKey;
        this.score = score;
        this.output = output;
    }

    public boolean perKey() { return perKey; }
    public boolean hasScore() { return score; }
    public boolean hasOutput() { return output; }
}
