import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, Matches, ValidateBy } from 'class-validator';
import { MAX_RELEASE_IMAGES, RELEASE_NAME } from '@airlock/promotion';
import { MAX_PLATFORMS_CHOSEN, PLATFORM, checkPlatforms } from '@airlock/oci';
import { StageRouteDto } from './promotion.dto';

/** One image of a release: a reference, or `{ image, platforms }` to carry only some platforms of an index. */
function isReleaseImage(v: unknown): boolean {
  const ref = (x: unknown) => typeof x === 'string' && x.length >= 1 && x.length <= 512;
  if (ref(v)) return true;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).some((k) => k !== 'image' && k !== 'platforms') || !ref(o.image)) return false;
  if (o.platforms === undefined) return true;
  try {
    checkPlatforms(o.platforms as string[]);
    return true;
  } catch {
    return false;
  }
}

export class CreateReleaseDto extends StageRouteDto {
  @ApiProperty({ example: 'shop-1.4', description: '1-100 letters, digits, dots, dashes or underscores' })
  @Matches(RELEASE_NAME, { message: 'name must be 1-100 letters, digits, dots, dashes or underscores' })
  name!: string;

  @ApiProperty({
    example: ['dev.example:5000/team/web:1.4', { image: 'dev.example:5000/team/api:1.4', platforms: ['linux/amd64'] }],
    description: `the images (1 to ${MAX_RELEASE_IMAGES}), each with a tag or a digest, or as { image, platforms } to carry only those platforms of an index; every tag is resolved to its digest now`,
    type: 'array',
    items: {
      oneOf: [
        { type: 'string', minLength: 1, maxLength: 512 },
        {
          type: 'object',
          required: ['image'],
          additionalProperties: false,
          properties: {
            image: { type: 'string', minLength: 1, maxLength: 512 },
            platforms: { type: 'array', minItems: 1, maxItems: MAX_PLATFORMS_CHOSEN, items: { type: 'string', pattern: PLATFORM.source } },
          },
        },
      ],
    },
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RELEASE_IMAGES)
  @ValidateBy(
    { name: 'isReleaseImage', validator: { validate: isReleaseImage } },
    {
      each: true,
      message: `each image must be a reference (1-512 characters) or { image, platforms } with 1 to ${MAX_PLATFORMS_CHOSEN} distinct platforms such as linux/amd64`,
    },
  )
  images!: (string | { image: string; platforms?: string[] })[];
}
