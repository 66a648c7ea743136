package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.ir.Expr;
import attnc.ir.Printer;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Soundness against brute force over random masks (every operator, lets, params, sizes, inputs),
 * random tile sizes, sizes not multiples of the tile and random query offsets: never EMPTY where
 * an element is visible, never FULL where one is masked; kvRange never leaves out a tile that holds
 * a visible element, and the runs of {@code row} are as sound as single tiles.
 */
class SoundnessTest {

    @Property(tries = 8000)
    void indexMasksAreSound(@ForAll long seed, @ForAll @IntRange(min = 0, max = 4) int depth) {
        check(seed, depth, false);
    }

    @Property(tries = 4000)
    void dataMasksAreSound(@ForAll long seed, @ForAll @IntRange(min = 0, max = 4) int depth) {
        check(seed, depth, true);
    }

    /**
     * {@code f(float(q - kv)) op c} is NaN, and so false (true for !=), above the diagonal: a tile
     * there is never FULL (never EMPTY for !=), whatever the constant. Every comparison, every
     * NaN-producing function.
     */
    @net.jqwik.api.Example
    void nanComparesFalseAndUnequal() {
        for (String op : java.util.List.of("<", "<=", ">", ">=", "==", "!=")) {
            for (String fn : java.util.List.of("sqrt", "log", "log2")) {
                for (String constant : java.util.List.of("1000.0", "-1000.0", "0.0")) {
                    Expr mask = parse("mask: " + fn + "(float(q - kv)) " + op + " " + constant);
                    check(mask, new Random(op.hashCode() * 31L + fn.hashCode()), "mask " + Printer.expr(mask));
                }
            }
        }
    }

    private static Expr parse(String text) {
        try {
            return attnc.front.Frontend.compile("nan", text).mask();
        } catch (attnc.front.CompileException e) {
            throw new AssertionError(e.getMessage());
        }
    }

    private static void check(long seed, int depth, boolean data) {
        Random random = new Random(seed);
        Expr mask = new MaskGenerator(random, data).bool(depth);
        check(mask, random, "seed " + seed + ", mask " + Printer.expr(mask));
    }

    private static void check(Expr mask, Random random, String what) {
        boolean data = attnc.ir.ExprTree.any(mask, e -> e instanceof Expr.Load || e instanceof Expr.Member);
        RandomLaunch launch = RandomLaunch.of(mask, random);
        int tileQ = 1 + random.nextInt(random.nextBoolean() ? 8 : 40);
        int tileKv = 1 + random.nextInt(random.nextBoolean() ? 8 : 40);
        TileClassifier derived = data
                ? ClassifyTiles.classifier(launch.pattern(), launch.binding(), launch.inputs(), tileQ, tileKv)
                : ClassifyTiles.classifier(launch.pattern(), launch.binding(), tileQ, tileKv);
        TileClassifier plain = ClassifyTiles.intervalsOnly(launch.pattern(), launch.binding(), tileQ, tileKv);
        TileGrid grid = derived.grid();
        BruteForce truth = new BruteForce(launch.pattern(), launch.binding(), launch.inputs(), grid);
        for (int b = 0; b < grid.batch(); b++) {
            for (int h = 0; h < grid.heads(); h++) {
                TileClass[][] actual = truth.tiles(b, h).classes();
                for (int qt = 0; qt < grid.qTiles(); qt++) {
                    TileClassifier.KvRange range = derived.kvRange(b, h, qt);
                    TileClass[] byRow = new TileClass[grid.kvTiles()];
                    java.util.Arrays.fill(byRow, TileClass.EMPTY);
                    TileClassifier.TileRow row = derived.row(b, h, qt);
                    for (int r = 0; r < row.runs(); r++) {
                        for (int kt = row.first()[r]; kt <= row.last()[r]; kt++) byRow[kt] = row.full()[r] ? TileClass.FULL : TileClass.PARTIAL;
                    }
                    for (int kt = 0; kt < grid.kvTiles(); kt++) {
                        String where = what + ", grid " + grid
                                + ", tile (b=" + b + ", h=" + h + ", q " + qt + ", kv " + kt + ")";
                        requireSound(actual[qt][kt], derived.classify(b, h, qt, kt), where);
                        requireSound(actual[qt][kt], plain.classify(b, h, qt, kt), "intervals only: " + where);
                        requireSound(actual[qt][kt], byRow[kt], "row: " + where);
                        if (actual[qt][kt] != TileClass.EMPTY) {
                            assertTrue(range.first() <= kt && kt <= range.last(), "kvRange " + range + " misses a visible tile: " + where);
                        }
                    }
                }
            }
        }
    }

    private static void requireSound(TileClass actual, TileClass derived, String where) {
        if (derived == TileClass.EMPTY && actual != TileClass.EMPTY) fail("EMPTY but an element is visible: " + where);
        if (derived == TileClass.FULL && actual != TileClass.FULL) fail("FULL but an element is masked: " + where);
    }
}
