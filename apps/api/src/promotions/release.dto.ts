import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { MAX_RELEASE_IMAGES } from '@airlock/promotion';

const STAGE = /^[a-z][a-z0-9-]{0,31}$/;

export class CreateReleaseDto {
  @ApiProperty({ example: 'shop-1.4', description: '1-100 letters, digits, dots, dashes or underscores' })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'name must be 1-100 letters, digits, dots, dashes or underscores' })
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

  @ApiProperty({ example: 'dev' })
  @Matches(STAGE, { message: 'from must be a stage name' })
  from!: string;

  @ApiProperty({ example: 'qa' })
  @Matches(STAGE, { message: 'to must be a stage name' })
  to!: string;

  @ApiPropertyOptional({ example: 'shop 1.4 for QA' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}
