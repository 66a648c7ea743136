package attnc.cli;

import attnc.analysis.TileClass;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;

/**
 * Draws a mask as attention-gym does: queries down, keys across, visible cells dark, masked cells
 * light, grid lines every 64 cells. Each cell is a square of {@link #cellPixels} pixels, so the
 * image is n·cell pixels wide. No text is drawn (a server may have no fonts); the title goes into
 * the PNG's metadata and on stdout.
 */
final class MaskImage {
    static final int GRID = 64;
    private static final int VISIBLE = 0x1F2F5C;
    private static final int MASKED = 0xF2F2F2;
    private static final int GRID_LINE = 0x9A9A9A;
    private static final Map<TileClass, Integer> TILE_TINT = Map.of(TileClass.EMPTY, MASKED, TileClass.FULL, 0xD5EDD5, TileClass.PARTIAL, 0xF7E3B5);

    private MaskImage() {}

    /** Cells are enlarged so that small grids stay visible: about 512 pixels across, at least one per cell. */
    static int cellPixels(int cells) {
        return Math.max(1, 512 / cells);
    }

    /**
     * The mask, its masked cells tinted by the class of their {@link #GRID} × {@link #GRID} tile
     * ({@code tileClass} of query tile, key tile) where one is given.
     */
    static BufferedImage render(boolean[][] visible, Optional<BiFunction<Integer, Integer, TileClass>> tiles) {
        int rows = visible.length, columns = visible[0].length;
        int cell = cellPixels(Math.max(rows, columns));
        BufferedImage image = new BufferedImage(columns * cell, rows * cell, BufferedImage.TYPE_INT_RGB);
        for (int qi = 0; qi < rows; qi++) {
            for (int kv = 0; kv < columns; kv++) {
                int color = visible[qi][kv] ? VISIBLE : background(tiles, qi, kv);
                fill(image, kv * cell, qi * cell, cell, cell, color);
            }
        }
        for (int line = GRID; line < columns; line += GRID) fill(image, line * cell, 0, 1, rows * cell, GRID_LINE);
        for (int line = GRID; line < rows; line += GRID) fill(image, 0, line * cell, columns * cell, 1, GRID_LINE);
        return image;
    }

    private static int background(Optional<BiFunction<Integer, Integer, TileClass>> tiles, int qi, int kv) {
        return tiles.map(t -> TILE_TINT.get(t.apply(qi / GRID, kv / GRID))).orElse(MASKED);
    }

    private static void fill(BufferedImage image, int x, int y, int width, int height, int color) {
        for (int j = y; j < y + height; j++) for (int i = x; i < x + width; i++) image.setRGB(i, j, color);
    }

    static void writePng(BufferedImage image, Path file, String title) throws IOException {
        OutputPaths.writeWhole(file, partial -> {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
            java.nio.file.Files.deleteIfExists(partial);
            try (ImageOutputStream stream = ImageIO.createImageOutputStream(partial.toFile())) {
                if (stream == null) throw new IOException("cannot write " + file);
                writer.setOutput(stream);
                IIOMetadata metadata = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), null);
                metadata.mergeTree("javax_imageio_1.0", titleTree(title));
                writer.write(new IIOImage(image, null, metadata));
            } finally {
                writer.dispose();
            }
        });
    }

    private static IIOMetadataNode titleTree(String title) {
        IIOMetadataNode entry = new IIOMetadataNode("TextEntry");
        entry.setAttribute("keyword", "Title");
        entry.setAttribute("value", title);
        IIOMetadataNode text = new IIOMetadataNode("Text");
        text.appendChild(entry);
        IIOMetadataNode root = new IIOMetadataNode("javax_imageio_1.0");
        root.appendChild(text);
        return root;
    }
}
