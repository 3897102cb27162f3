import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { MAX_RELEASE_IMAGES, RELEASE_NAME } from '@airlock/promotion';
import { StageRouteDto } from './promotion.dto';

export class CreateReleaseDto extends StageRouteDto {
  @ApiProperty({ example: 'shop-1.4', description: '1-100 letters, digits, dots, dashes or underscores' })
  @Matches(RELEASE_NAME, { message: 'name must be 1-100 letters, digits, dots, dashes or underscores' })
  name!: string;

  @ApiProperty({
    example: ['dev.example:5000/team/web:1.4', 'dev.example:5000/team/api:1.4'],
    description: `the images, each with a tag or a digest (1 to ${MAX_RELEASE_IMAGES}); every tag is resolved to its digest now`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_RELEASE_IMAGES)
  @IsString({ each: true })
  @MaxLength(512, { each: true })
  images!: string[];
}
