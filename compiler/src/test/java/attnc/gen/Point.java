package attnc.gen;

/** One element of the iteration space, with the score s and output o it sees. {@code q} is absolute. */
public record Point(int b, int h, int q, int kv, int d, double s, double o) {}
