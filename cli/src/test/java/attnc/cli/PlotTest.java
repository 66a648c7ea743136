package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.analysis.TileClass;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.BiFunction;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotTest {
    private static final int DARK = 0x1F2F5C, LIGHT = 0xF2F2F2, GRID = 0x9A9A9A, PARTIAL_TINT = 0xF7E3B5;

    @TempDir
    Path temp;

    private static int rgb(BufferedImage image, int x, int y) {
        return image.getRGB(x, y) & 0xFFFFFF;
    }

    @Test
    void causalIsDarkBelowTheDiagonalAndLightAbove() throws Exception {
        Path png = temp.resolve("causal.png");
        Cli cli = Cli.run("plot", Cli.EXAMPLES.resolve("causal.attn").toString(), "--n", "128", "-o", png.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(512, image.getWidth());
        int cell = 4;
        assertEquals(DARK, rgb(image, 1, 127 * cell + 1), "query 127 sees key 0");
        assertEquals(LIGHT, rgb(image, 127 * cell + 1, 1), "query 0 does not see key 127");
        assertEquals(DARK, rgb(image, 10 * cell + 1, 10 * cell + 1), "the diagonal is visible");
        assertEquals(PARTIAL_TINT, rgb(image, 11 * cell + 1, 10 * cell + 1), "query 10 does not see key 11, in a PARTIAL tile");
        assertEquals(GRID, rgb(image, 64 * cell, 2), "a grid line every 64 keys");
        assertTrue(cli.out().contains("visible 50.39% of 16384 cells"), cli.transcript());
    }

    @Test
    void theHeadToDrawIsChosen() throws Exception {
        // Stripes: head h sees keys kv with (kv - h) % 8 == 0 beyond the local window of 16.
        Path png = temp.resolve("stripes.png");
        Cli cli = Cli.run("plot", Cli.EXAMPLES.resolve("stripes.attn").toString(), "--n", "64", "--heads", "4", "--head", "3", "-o", png.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        BufferedImage image = ImageIO.read(png.toFile());
        int cell = 8;
        assertEquals(DARK, rgb(image, 3 * cell + 1, 63 * cell + 1), "head 3 sees key 3 from query 63");
        assertEquals(PARTIAL_TINT, rgb(image, 0 * cell + 1, 63 * cell + 1), "head 3 does not see key 0 from query 63 (a PARTIAL tile)");
    }

    @Test
    void tileClassesTintTheMaskedCellsOfTheirTiles() {
        boolean[][] visible = new boolean[128][128];
        visible[0][0] = true;
        BiFunction<Integer, Integer, TileClass> tiles = (queryTile, keyTile) ->
                queryTile.equals(keyTile) ? TileClass.PARTIAL : queryTile > keyTile ? TileClass.FULL : TileClass.EMPTY;
        BufferedImage image = MaskImage.render(visible, Optional.of(tiles));
        assertEquals(DARK, rgb(image, 0, 0));
        assertEquals(0xF7E3B5, rgb(image, 10, 10), "partial tile");
        assertEquals(0xD5EDD5, rgb(image, 10, 64 * 4 + 10), "full tile");
        assertEquals(LIGHT, rgb(image, 64 * 4 + 10, 10), "empty tile");
    }
}
